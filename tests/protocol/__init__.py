"""The sans-I/O codec: Engine.IO 3 and Socket.IO packets, the client state machine."""
