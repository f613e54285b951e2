/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify-model.h"
#include "classify-msg.h"
#include "csvread.h"
#include "fuzz.h"
#include "log.h"
#include "msg.h"

/*
 * The complaint classifier's outside inputs: message texts, the
 * complaint_cues setting, trained model files and the CSV/TSV files
 * `replywatch train` reads. The first byte picks what the rest is:
 *
 *	0  a text, classified (the second byte picks the language)
 *	1  complaint_cues, a line feed, a text classified with them
 *	2  a model file, as is
 *	3  a model file made valid enough to load: the header's fields
 *	   forced into range, the size and the checksum made right (the
 *	   weights stay as given); then a text scored with it
 *	4  a CSV file (the second byte: separator and quoting)
 */

#define MODEL_HEADER	36
#define NMODES		5

static struct classify *builtin[3];	/* auto, en, de */

static void
check_result(const struct classify_result *r)
{
	size_t i;

	if (!(r->score >= 0 && r->score <= 1) ||
	    (r->lang != CLASSIFY_EN && r->lang != CLASSIFY_DE) ||
	    r->ncues > CLASSIFY_MAX_CUES)
		abort();
	for (i = 0; i < r->ncues; i++)
		if (r->cues[i] == NULL || strlen(r->cues[i]) > 4096)
			abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct classify_options o;
	char *err = NULL;
	int i;

	log_init("fuzz-classify", LOG_LEVEL_ERR);
	for (i = 0; i < 3; i++) {
		classify_options_init(&o);
		o.lang = (enum classify_lang)i;
		if ((builtin[i] = classify_new(&o, &err)) == NULL) {
			fprintf(stderr, "fuzz-classify: %s\n", err);
			exit(1);
		}
	}
	return 0;
}

static void
text_mode(const uint8_t *p, size_t n)
{
	struct classify_result r;
	struct classify *c;
	struct msg m;
	char *s;

	if (n == 0)
		return;
	c = builtin[p[0] % 3];
	classify_text(c, (const char *)p + 1, n - 1, &r);
	check_result(&r);
	/* as a message is stored */
	memset(&m, 0, sizeof m);
	m.complaint = MSG_COMPLAINT_UNKNOWN;
	m.text = fuzz_strndup(p + 1, n - 1);
	if (classify_msg(c, &m) != 1)
		abort();
	s = msg_to_json(&m);
	free(s);
	msg_clear(&m);
}

static void
cues_mode(const uint8_t *p, size_t n)
{
	struct fuzz_in in = { p, n };
	struct classify_options o;
	struct classify_result r;
	struct classify *c;
	const uint8_t *q;
	char *spec, *err = NULL;
	size_t len;

	q = fuzz_next(&in, "\n", 1, &len);
	spec = fuzz_strndup(q != NULL ? q : p, q != NULL ? len : 0);
	classify_options_init(&o);
	o.cues = spec;
	if ((c = classify_new(&o, &err)) == NULL) {
		if (err == NULL)
			abort();
		free(err);
	} else {
		if (err != NULL)
			abort();
		classify_text(c, in.p != NULL ? (const char *)in.p : "",
		    in.len, &r);
		check_result(&r);
		classify_free(c);
	}
	free(spec);
}

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
model_mode(const uint8_t *p, size_t n, int fix)
{
	struct classify_model *m;
	double dense[CLASSIFY_NDENSE], logit;
	const struct ctok_buf *tok;
	unsigned char *buf;
	uint64_t h;
	uint32_t bits, cmin, cmax;
	size_t len, i, textlen = 0;
	char *err = NULL;

	if (!fix) {
		buf = xmalloc(n != 0 ? n : 1);
		memcpy(buf, p, n);
		len = n;
	} else {
		/* header: magic, version 1, language, bits 10..11, n-gram
		 * range, 4 inputs; weights from the input, in a loop; a
		 * text to score after them */
		unsigned char hdr[MODEL_HEADER];

		memset(hdr, 0, sizeof hdr);
		memcpy(hdr, p, n < sizeof hdr ? n : sizeof hdr);
		bits = 10 + hdr[16] % 2;
		cmax = hdr[24] % 9;
		cmin = cmax == 0 ? 0 : 1 + hdr[20] % cmax;
		len = MODEL_HEADER + 4 * CLASSIFY_NDENSE + ((size_t)4 << bits)
		    + 8;
		buf = xcalloc(1, len);
		memcpy(buf, hdr, sizeof hdr);
		memcpy(buf, "RWCMODEL", 8);
		put_u32(buf + 8, 1);
		put_u32(buf + 12, 1 + hdr[12] % 2);
		put_u32(buf + 16, bits);
		put_u32(buf + 20, cmin);
		put_u32(buf + 24, cmax);
		put_u32(buf + 28, CLASSIFY_NDENSE);
		if (n > sizeof hdr)
			for (i = 32; i < len - 8; i++)
				buf[i] = p[sizeof hdr +
				    (i - 32) % (n - sizeof hdr)];
		textlen = n > sizeof hdr ? n - sizeof hdr : 0;
		h = UINT64_C(0xcbf29ce484222325);
		for (i = 0; i < len - 8; i++) {
			h ^= buf[i];
			h *= UINT64_C(0x100000001b3);
		}
		put_u32(buf + len - 8, (uint32_t)h);
		put_u32(buf + len - 4, (uint32_t)(h >> 32));
	}
	m = classify_model_read(buf, len, "fuzz.model", &err);
	if (m == NULL) {
		if (err == NULL)
			abort();
		free(err);
	} else {
		if (err != NULL)
			abort();
		if (fix) {
			tok = classify_scan(builtin[classify_model_lang(m)],
			    (const char *)p + MODEL_HEADER, textlen,
			    classify_model_lang(m), dense);
			logit = classify_model_logit(m, tok, dense);
			if (isnan(logit))
				abort();
		}
		/* what it writes reads back */
		free(buf);
		buf = classify_model_write(m, &len);
		classify_model_free(m);
		if ((m = classify_model_read(buf, len, "again", &err)) == NULL)
			abort();
		classify_model_free(m);
	}
	free(buf);
}

static void
csv_mode(const uint8_t *p, size_t n)
{
	static const char seps[] = { ',', '\t', ';', '|' };
	static char empty[1];
	struct csvread *r;
	char **fields, *err = NULL;
	size_t nfields, i, count = 0;
	long line;
	FILE *fp;
	int rc;

	if (n == 0)
		return;
	if (n == 1) {
		/* an empty file: fmemopen wants a size of at least 1 */
		if ((fp = fmemopen(empty, 1, "r")) == NULL)
			return;
		(void)fgetc(fp);
	} else if ((fp = fmemopen((void *)(p + 1), n - 1, "r")) == NULL)
		return;
	r = csvread_new(fp, seps[p[0] % 4], !(p[0] & 4));
	while ((rc = csvread_next(r, &fields, &nfields, &line, &err)) == 1) {
		for (i = 0; i < nfields; i++)
			if (fields[i] == NULL)
				abort();
		if (line < 1 || ++count > 100000)
			abort();
	}
	if (rc == -1) {
		if (err == NULL)
			abort();
		free(err);
	}
	csvread_free(r);
	fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (builtin[0] == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size == 0)
		return 0;
	switch (data[0] % NMODES) {
	case 0:
		text_mode(data + 1, size - 1);
		break;
	case 1:
		cues_mode(data + 1, size - 1);
		break;
	case 2:
		model_mode(data + 1, size - 1, 0);
		break;
	case 3:
		model_mode(data + 1, size - 1, 1);
		break;
	case 4:
		csv_mode(data + 1, size - 1);
		break;
	}
	return 0;
}
