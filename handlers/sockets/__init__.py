"""socket.io namespaces: /chat for children, /counsellor and /supervisor for staff."""
