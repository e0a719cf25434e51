/* stats.h - what a pass counts, for --stats and the DONE frame. */
#ifndef SHELTER_STATS_H
#define SHELTER_STATS_H

#include <stdint.h>

struct stats {
	uint64_t files;		/* entries listed by the sender */
	uint64_t regular, dirs, links;
	uint64_t created;	/* new entries in DEST */
	uint64_t deleted;	/* entries removed from DEST */
	uint64_t transferred;	/* regular files whose content was sent */
	uint64_t total_size;	/* bytes of all regular files listed */
	uint64_t xfer_size;	/* bytes of the files transferred */
	uint64_t literal;	/* literal bytes in deltas and whole files */
	uint64_t matched;	/* bytes copied from the receiver's basis */
};

#define STATS_FIELDS 11

#endif
