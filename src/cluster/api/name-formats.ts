/**
 * The name shapes of Kubernetes' apimachinery validation (`IsDNS1123Label`,
 * `IsDNS1123Subdomain`, `IsDNS1035Label`, `IsQualifiedName`, `IsValidLabelValue`), as the
 * regular expressions the validators test against; each validator words its own message
 * after the upstream check it stands for. The length limits are checked apart (63 or 253).
 */

/** A lowercase RFC 1123 label: a Namespace's or a Service's name, a container's name. */
export const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A lowercase RFC 1123 subdomain: most objects' names, an API group, a label key's prefix. */
export const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1035 label (starts with a letter): a CRD's plural, singular and kind names. */
export const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The name part of a qualified name (a label or annotation key after its optional prefix). */
export const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A label value: empty, or alphanumerics with `-`, `_` and `.` inside. */
export const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
