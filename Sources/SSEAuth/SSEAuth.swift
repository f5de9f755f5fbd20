/// Access tokens for private topics: see the README's "Security" section.
public enum SSEAuth {}
