// Content script: capture (isolated world).
