/** The Services both servers in bench/dns answer for: `svc-I` at 10.43.(I/250+1).(I%250+1). */
export function benchServices(n: number): { name: string; ip: string; fqdn: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `svc-${i}`,
    ip: `10.43.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`,
    fqdn: `svc-${i}.default.svc.cluster.local`,
  }));
}
