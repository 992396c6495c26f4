// One header for the module: rdkafka_mock.h uses rdkafka.h's types without including it.
#ifndef CHATTER_CRDKAFKA_SHIM_H
#define CHATTER_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
