"""Tools for development and tests, not production code: the fake WeChat API server, the
simulator of WeChat's callback requests and `dxbot chat`."""
