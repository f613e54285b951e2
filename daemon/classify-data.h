/* SPDX-License-Identifier: ISC */
#ifndef RW_CLASSIFY_DATA_H
#define RW_CLASSIFY_DATA_H

/* etc/classifier/en.txt and de.txt as strings, generated at build time by
 * etc/classifier/embed.awk (classify-data.c). Comment lines are emptied,
 * so that line numbers stay those of the files. */
extern const char classify_data_en[];
extern const char classify_data_de[];

#endif
