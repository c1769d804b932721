"""Batch jobs beside the request path: publish the store, outbound lists, the Bento."""
