"""The data side: contract, checks, loaders, CDNOW, the simulator, features, labels, snapshots."""
