// Service-worker side of the cache feature.
export {};
