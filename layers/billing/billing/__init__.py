"""TwinMCP Billing: the domain package shared by every function through the layer."""
