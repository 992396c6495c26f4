import Foundation

/// A part of Chatter that can run in a process of its own. `chatter serve` runs them all;
/// `--role auth,chat` (or `CHATTER_ROLES`) runs a subset.
public enum Role: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case gateway, auth, chat, messaging, notification

    public var description: String { rawValue }

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// `gateway,auth` → those roles; empty → every role. Unknown names are refused.
    public static func parseList(_ value: String) throws -> Set<Role> {
        let names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { return Set(allCases) }
        return Set(try names.map { name in
            guard let role = Role(rawValue: name.lowercased()) else {
                throw ConfigurationError(
                    variable: "CHATTER_ROLES", value: value, expected: "a comma list of \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return role
        })
    }
}
