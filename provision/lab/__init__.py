"""The local lab: the AWS emulator process and the gateway built in network namespaces."""
