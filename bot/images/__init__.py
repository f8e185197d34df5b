"""Image intake for Report Remove: checking uploads, hashing them off the event loop, and the encrypted vault."""
