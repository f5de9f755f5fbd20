import SSEAuth
import Testing

@Suite("Access tokens")
struct SSEAuthTests {}
