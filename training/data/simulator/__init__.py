"""The simulated shop: latent buy-till-you-die archetypes with ground truth."""
