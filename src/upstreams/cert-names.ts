/**
 * Lab certificate file names: "*" is spelled "wildcard" (*.example.com → wildcard.example.com); a
 * workload identity spiffe://<domain>/ns/<ns>/sa/<sa> is spiffe-<ns>-<sa> (make-certs.ts).
 */
export const certFile = (name: string) => {
  const spiffe = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/(.+)$/.exec(name);
  return spiffe ? `spiffe-${spiffe[1]}-${spiffe[2]}` : name.replace('*', 'wildcard');
};
