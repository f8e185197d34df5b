"""Haven's domain core: storage, accounts, queue, risk, verification, images, reports."""
