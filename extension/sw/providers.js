// Service-worker side of the providers feature.
export {};
