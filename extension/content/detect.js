// Content script: detect (isolated world).
