/**
 * The id mapping every userns-based tier uses: ids 0..65535 inside a sandbox are host ids
 * 100000..165535, so sandbox root is never host root. Template root filesystems are stored with
 * ownership already shifted by this base, so every such tier can use them without a copy.
 */
export const USERNS_HOST_BASE = 100000;
export const USERNS_SIZE = 65536;
