"""Python client SDK: what a headless client (tests, bots, the benchmark) uses to talk to ATLAS."""
