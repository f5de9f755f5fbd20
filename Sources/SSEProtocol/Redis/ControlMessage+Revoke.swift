/// The `revoke` form of ``ControlMessage``.
extension ControlMessage {
    /// The longest subject or token id accepted, in characters.
    public static let maximumIdentifierLength = 256

    static func revocation(_ body: JSONValue) throws(InvalidControlMessage) -> Revocation {
        guard let members = body.members else { throw InvalidControlMessage("\"revoke\" must be an object") }
        var targets: [Revocation.Target] = []
        for member in members {
            let key = member.key
            switch (key, member.value) {
            case ("subject", .string(let text)): targets.append(.subject(try identifier(text, "subject")))
            case ("token", .string(let text)): targets.append(.token(try identifier(text, "token")))
            case ("topic", .string(let text)):
                do {
                    targets.append(.topic(try Topic(validating: text)))
                } catch {
                    throw InvalidControlMessage("\(error)")
                }
            case ("subject", _), ("token", _), ("topic", _):
                throw InvalidControlMessage("\"\(key)\" must be a string")
            default: continue
            }
        }
        guard targets.count == 1 else {
            throw InvalidControlMessage("\"revoke\" needs exactly one of \"subject\", \"token\" or \"topic\"")
        }
        var revocation = Revocation(target: targets[0])
        revocation.at = try seconds(body["at"], "at")
        revocation.until = try seconds(body["until"], "until")
        switch body["reason"] {
        case nil: break
        case .string(let text)?: revocation.reason = try validReason(text)
        default: throw InvalidControlMessage("\"reason\" must be a string")
        }
        return revocation
    }

    private static func identifier(_ text: String, _ name: String) throws(InvalidControlMessage) -> String {
        guard !text.isEmpty, text.count <= maximumIdentifierLength else {
            throw InvalidControlMessage("\"\(name)\" must have 1–\(maximumIdentifierLength) characters")
        }
        return text
    }

    private static func seconds(_ value: JSONValue?, _ name: String) throws(InvalidControlMessage) -> Double? {
        switch value {
        case nil: return nil
        case .number(let number)?:
            guard let seconds = Double(number), seconds.isFinite, seconds >= 0 else {
                throw InvalidControlMessage("\"\(name)\" must be Unix seconds")
            }
            return seconds
        default: throw InvalidControlMessage("\"\(name)\" must be Unix seconds")
        }
    }

    static func payload(_ revocation: Revocation) -> String {
        var fields: [String] = []
        switch revocation.target {
        case .subject(let subject): fields.append("\"subject\":" + JSONValue.string(subject).compactText)
        case .token(let id): fields.append("\"token\":" + JSONValue.string(id).compactText)
        case .topic(let topic): fields.append("\"topic\":" + JSONValue.string(topic.name).compactText)
        }
        if let at = revocation.at { fields.append("\"at\":" + number(at)) }
        if let until = revocation.until { fields.append("\"until\":" + number(until)) }
        fields.append("\"reason\":" + JSONValue.string(revocation.reason).compactText)
        return "{\"revoke\":{" + fields.joined(separator: ",") + "}}"
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
