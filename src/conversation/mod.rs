//! Conversations: the tree as ChatGPT keeps it, the official export format, conversion and search.
