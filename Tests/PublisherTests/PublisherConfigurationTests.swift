import Publisher
import Testing

@Suite struct PublisherConfigurationTests {
    @Test func defaultPortIs8090() {
        #expect(PublisherConfiguration().port == 8090)
    }
}
