// Service-worker side of the detect feature.
export {};
