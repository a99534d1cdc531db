// MAIN-world observer of the conversations the page loads and streams (for the cache).
