/**
 * Defaults of the locality pieces (network coordinates, region hint, holder ranking). Times
 * in milliseconds. The Vivaldi constants are those of Dabek et al. (SIGCOMM 2004) as Serf
 * uses them; Serf works in seconds, these in ms.
 */

/** cc: how far one sample moves our coordinate, scaled by our confidence relative to theirs. */
export const VIVALDI_CC = 0.25

/** ce: how fast the error estimate follows the error of new samples. */
export const VIVALDI_CE = 0.25

/** The error estimate of a coordinate that has learnt nothing yet (and the cap of any). */
export const VIVALDI_ERROR_MAX = 1.5

/** The least height (the access link's share of every RTT), ms. */
export const VIVALDI_HEIGHT_MIN_MS = 0.01

/** Distances below this count as zero (two coordinates in one place), ms. */
export const VIVALDI_ZERO_MS = 1e-6

/** Samples kept per peer: the coordinate moves on their median, so one late reply doesn't fling it. */
export const VIVALDI_LATENCY_FILTER_SAMPLES = 3

/**
 * RTT samples outside (0, this] are ignored, ms: a reply that slow measures a queue, not a
 * distance.
 */
export const VIVALDI_MAX_RTT_MS = 10_000

/**
 * A remote coordinate with a component or height beyond this is refused, ms. Coordinates
 * come from peers: a bound keeps a broken or hostile one from flinging ours away.
 */
export const VIVALDI_MAX_COMPONENT_MS = 100_000

/** A coordinate estimate is used for ranking only while both ends' error is at most this. */
export const DEFAULT_COORDINATE_MAX_ERROR = 0.6

/** A region hint: at most this many characters. */
export const REGION_MAX_LENGTH = 32

/** A holder in our own region: its estimated RTT is multiplied by this when ranking. */
export const DEFAULT_SAME_REGION_FACTOR = 0.7

/** The RTT assumed for a holder we know nothing about (no measurement, no usable coordinate), ms. */
export const DEFAULT_UNKNOWN_RTT_MS = 200

/** … and for such a holder that shares our region hint, ms. */
export const DEFAULT_UNKNOWN_SAME_REGION_RTT_MS = 40

/**
 * Share of the ranking's leading slots given to far holders (every 1/share-th slot, from the
 * far ones in random order), so content still crosses regions and a region that holds
 * nothing yet still gets it from peers.
 */
export const DEFAULT_FAR_HOLDER_SHARE = 0.125

/** A holder is "near" when its cost is at most this many times the best one … */
export const DEFAULT_NEAR_FACTOR = 2

/** … or within this many ms of the best one. */
export const DEFAULT_NEAR_SLACK_MS = 20

/** RTT samples kept per peer by the RTT book (its RTT is their least). */
export const DEFAULT_RTT_BOOK_SAMPLES = 5

/** Peers the RTT book keeps samples of (the least recently sampled goes first). */
export const DEFAULT_RTT_BOOK_MAX_PEERS = 256
