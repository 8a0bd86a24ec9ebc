"""The HTTP surface shared by both adapters: the route table, body validation, the dispatcher."""
