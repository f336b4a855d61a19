"""The suite's plugins: the shared fixtures and builders (tests.plugin), the one clock
(tests.clock: TEST_NOW, the ``clock`` fixture) and ``flask worker`` processes (tests.workers).
Test modules import fixtures from none of them: pytest finds the fixtures by name."""

pytest_plugins = ["tests.clock", "tests.plugin", "tests.workers"]
