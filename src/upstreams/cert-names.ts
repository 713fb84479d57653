/** Lab certificate file names: "*" is spelled "wildcard" (*.example.com → wildcard.example.com). */
export const certFile = (name: string) => name.replace('*', 'wildcard');
