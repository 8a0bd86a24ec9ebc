"""The standalone server: the ASGI adapter, its guards and the uvicorn runner."""
