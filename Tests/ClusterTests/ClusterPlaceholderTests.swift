import Testing

@Suite struct ClusterPlaceholderTests {
    @Test func placeholder() { #expect(1 + 1 == 2) }
}
