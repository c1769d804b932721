"""cintel serving: BentoML service, online store, offer arbitration, model loading."""
