/**
 * The seam between the image store and the container runtime: what a container needs from
 * an image, and nothing more. The image store implements it (`resolveImage` in resolve.ts);
 * the runtime consumes it, so either side can change its insides freely.
 */

/** The runtime-relevant part of an OCI image config (`config` in the OCI image config JSON). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  /** Written by the builder (HEALTHCHECK, ONBUILD, SHELL); Docker's field names. */
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** Docker's HEALTHCHECK config: durations in nanoseconds; `["NONE"]` disables the base image's. */
export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** An image found in the store, ready to be a container's root filesystem. */
export interface ResolvedImage {
  /** The image ID: the digest of its config blob, `sha256:<hex>`. */
  id: string;
  /** The name the user asked for, normalised (`docker.io/library/busybox:latest`), or the ID. */
  name: string;
  /** The image's runtime config. */
  config: ImageRuntimeConfig;
  /**
   * The unpacked layer directories, top-most layer first (overlayfs `lowerdir` order).
   * Unpacks any layer not yet unpacked; every layer is unpacked once and shared.
   */
  lowerDirs(): Promise<string[]>;
  /**
   * The committed snapshot of the image's top layer (its chain ID; `''` for an image with no
   * layers), unpacking what is missing: a container's snapshot is prepared on it. Absent for
   * a plain folder (`--rootfs`), which is only `lowerDirs`.
   */
  topLayer?(): Promise<string>;
}
