/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "classify-model.h"
#include "classify-token.h"
#include "xmalloc.h"

/*
 * The complaint classifier: the rules of doc/classifier.md (negation,
 * intensifiers, German cues, questions, emoji, punctuation and capitals,
 * language detection, extra cues, threshold) and the trained model
 * (train, write, read back; corrupt files refused with a reason).
 */

static struct classify *
make(enum classify_lang lang, const char *cues, double threshold)
{
	struct classify_options o;
	struct classify *c;
	char *err = NULL;

	classify_options_init(&o);
	o.lang = lang;
	o.cues = cues;
	if (threshold >= 0)
		o.threshold = threshold;
	c = classify_new(&o, &err);
	ck_assert_msg(c != NULL, "classify_new: %s", err ? err : "?");
	return c;
}

static void
run(struct classify *c, const char *text, struct classify_result *r)
{
	classify_text(c, text, strlen(text), r);
	ck_assert(r->score >= 0 && r->score <= 1);
}

static double
score(struct classify *c, const char *text)
{
	struct classify_result r;

	run(c, text, &r);
	return r.score;
}

static int
has_cue(const struct classify_result *r, const char *cue)
{
	size_t i;

	for (i = 0; i < r->ncues; i++)
		if (strcmp(r->cues[i], cue) == 0)
			return 1;
	return 0;
}

START_TEST(test_negation)
{
	struct classify *c = make(CLASSIFY_EN, NULL, -1);
	struct classify_result r;

	run(c, "I am happy with the service", &r);
	ck_assert_int_eq(r.complaint, 0);
	run(c, "I am not happy with the service", &r);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert_msg(has_cue(&r, "not happy"), "cues: %s", r.ncues ?
	    r.cues[0] : "none");
	/* "not bad" is less of a complaint than "bad". */
	ck_assert(score(c, "the food was not bad") <
	    score(c, "the food was bad"));
	classify_free(c);

	c = make(CLASSIFY_DE, NULL, -1);
	run(c, "Ich bin nicht zufrieden", &r);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert(has_cue(&r, "nicht zufrieden"));
	run(c, "Ich bin zufrieden", &r);
	ck_assert_int_eq(r.complaint, 0);
	classify_free(c);
}
END_TEST

START_TEST(test_intensifiers_caps_punctuation)
{
	struct classify *c = make(CLASSIFY_EN, NULL, -1);
	struct classify_result r;

	ck_assert(score(c, "the service was bad") <
	    score(c, "the service was very bad"));
	ck_assert(score(c, "the service was bad") <
	    score(c, "the service was BAD"));
	ck_assert(score(c, "my order is late") <
	    score(c, "my order is late!!!"));
	run(c, "my order is late!!!", &r);
	ck_assert(has_cue(&r, "!!"));
	ck_assert(score(c, "the service was bad") <
	    score(c, "the service was baaaad"));
	classify_free(c);
}
END_TEST

START_TEST(test_english_cues)
{
	struct classify *c = make(CLASSIFY_AUTO, NULL, -1);
	struct classify_result r;

	run(c, "@acme I am still waiting for my refund, no answer since "
	    "Monday", &r);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert_int_eq(r.lang, CLASSIFY_EN);
	ck_assert(has_cue(&r, "still waiting"));
	ck_assert(has_cue(&r, "refund"));
	ck_assert(has_cue(&r, "no answer"));
	/* A prefix pattern: refund* */
	run(c, "they never refunded the order", &r);
	ck_assert(has_cue(&r, "refunded"));
	run(c, "My flight was cancelled and the app is broken", &r);
	ck_assert_int_eq(r.complaint, 1);
	run(c, "Thanks so much, great service as always!", &r);
	ck_assert_int_eq(r.complaint, 0);
	ck_assert_uint_eq(r.ncues, 0);
	classify_free(c);
}
END_TEST

START_TEST(test_german_cues)
{
	struct classify *c = make(CLASSIFY_AUTO, NULL, -1);
	struct classify_result r;

	run(c, "@acme Meine Bestellung ist immer noch nicht da", &r);
	ck_assert_int_eq(r.lang, CLASSIFY_DE);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert(has_cue(&r, "immer noch"));
	run(c, "Der Zug hat schon wieder 40 Minuten Verspätung", &r);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert(has_cue(&r, "schon wieder"));
	/* Inside a compound: *verspät* */
	run(c, "Die Zugverspätung heute war ärgerlich", &r);
	ck_assert(has_cue(&r, "zugverspätung"));
	run(c, "Keine Antwort auf meine Mail, und die Erstattung fehlt", &r);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert(has_cue(&r, "keine antwort"));
	run(c, "Das Gerät ist kaputt", &r);
	ck_assert_int_eq(r.complaint, 1);
	run(c, "Vielen Dank, super freundlicher Service!", &r);
	ck_assert_int_eq(r.complaint, 0);
	classify_free(c);
}
END_TEST

START_TEST(test_question_vs_complaint)
{
	struct classify *c = make(CLASSIFY_EN, NULL, -1);
	struct classify_result r;

	run(c, "How do I change the address of my account?", &r);
	ck_assert_int_eq(r.complaint, 0);
	run(c, "Do you ship to Canada?", &r);
	ck_assert_int_eq(r.complaint, 0);
	run(c, "Why is my order still not here? Been waiting two weeks", &r);
	ck_assert_int_eq(r.complaint, 1);
	classify_free(c);
	c = make(CLASSIFY_DE, NULL, -1);
	run(c, "Wie kann ich meine Adresse ändern?", &r);
	ck_assert_int_eq(r.complaint, 0);
	run(c, "Warum ist mein Paket immer noch nicht angekommen?", &r);
	ck_assert_int_eq(r.complaint, 1);
	classify_free(c);
}
END_TEST

START_TEST(test_emoji)
{
	struct classify *c = make(CLASSIFY_EN, NULL, -1);
	struct classify_result r;

	ck_assert(score(c, "the delivery came today \xf0\x9f\x98\xa1") >
	    score(c, "the delivery came today"));
	ck_assert(score(c, "the delivery came today \xf0\x9f\x98\x8d") <
	    score(c, "the delivery came today"));
	run(c, "the delivery came today \xf0\x9f\x98\xa1", &r);
	ck_assert(has_cue(&r, "\xf0\x9f\x98\xa1"));
	ck_assert(score(c, "ok :(") > score(c, "ok :)"));
	classify_free(c);
}
END_TEST

START_TEST(test_language)
{
	struct classify *c = make(CLASSIFY_AUTO, NULL, -1);
	struct classify_result r;

	run(c, "The package did not arrive and nobody answers", &r);
	ck_assert_int_eq(r.lang, CLASSIFY_EN);
	run(c, "Das Paket ist nicht angekommen und niemand antwortet", &r);
	ck_assert_int_eq(r.lang, CLASSIFY_DE);
	run(c, "Schöne Grüße", &r);
	ck_assert_int_eq(r.lang, CLASSIFY_DE);	/* umlauts */
	run(c, "", &r);
	ck_assert_int_eq(r.lang, CLASSIFY_EN);
	ck_assert_int_eq(r.complaint, 0);
	classify_free(c);
	/* Fixed per account. */
	c = make(CLASSIFY_DE, NULL, -1);
	run(c, "The package did not arrive", &r);
	ck_assert_int_eq(r.lang, CLASSIFY_DE);
	classify_free(c);
	ck_assert_str_eq(classify_lang_name(CLASSIFY_DE), "de");
}
END_TEST

START_TEST(test_odd_input)
{
	static const char bad[] = "caf\xc3 \xff\xfe broken \xe2\x80 !!! "
	    "\xf0\x9f\x98";
	struct classify *c = make(CLASSIFY_AUTO, NULL, -1);
	struct classify_result r;
	char *big;

	classify_text(c, bad, sizeof bad - 1, &r);
	ck_assert(has_cue(&r, "broken"));
	/* Not NUL-terminated, and long. */
	big = xmalloc(200000);
	memset(big, 'a', 200000);
	memcpy(big + 100, " broken ", 8);
	classify_text(c, big, 200000, &r);
	ck_assert(r.score >= 0 && r.score <= 1);
	free(big);
	classify_free(c);
}
END_TEST

START_TEST(test_extra_cues_threshold)
{
	struct classify *c;
	struct classify_result r;
	char *err = NULL;

	c = make(CLASSIFY_EN, "\"late delivery\"=3.0, parcel*=2, thanks=0", -1);
	run(c, "this was a late delivery", &r);
	ck_assert_int_eq(r.complaint, 1);
	ck_assert(has_cue(&r, "late delivery"));
	run(c, "about the parcels", &r);
	ck_assert(has_cue(&r, "parcels"));
	classify_free(c);

	c = make(CLASSIFY_EN, NULL, 0);
	run(c, "Thanks, great!", &r);
	ck_assert_int_eq(r.complaint, 1);
	classify_free(c);
	c = make(CLASSIFY_EN, NULL, 1);
	run(c, "still waiting", &r);
	ck_assert(r.score < 1 || r.complaint);
	classify_free(c);

	ck_assert_int_eq(classify_cues_check("refund=1, late=2.5", &err), 0);
	ck_assert_int_eq(classify_cues_check("refund=lots", &err), -1);
	ck_assert_msg(strstr(err, "complaint_cues") != NULL &&
	    strstr(err, "refund") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(classify_cues_check("a*b*=1", &err), -1);
	free(err);
	ck_assert_int_eq(classify_cues_check("re*=1", &err), -1);
	ck_assert_msg(strstr(err, "at least 3") != NULL, "%s", err);
	free(err);
	ck_assert_int_eq(classify_cues_check("x=11", &err), -1);
	free(err);
}
END_TEST

/* ---- the model ------------------------------------------------------------- */

static const char *const complaints[] = {
	"my parcel never arrived", "still waiting for the refund",
	"the app keeps crashing", "terrible service, nobody answers",
	"order cancelled without a reason", "you charged me twice",
	"the screen is broken", "no answer for a week",
};
static const char *const others[] = {
	"thanks for the quick help", "do you ship to canada",
	"love the new colours", "great service today",
	"what are your opening hours", "happy new year everyone",
	"can I pay with paypal", "the new store looks lovely",
};

static struct classify_model *
train_small(void)
{
	struct classify_sample s[16];
	struct classify_train_options o;
	struct classify_model *m;
	char *err = NULL;
	size_t i;

	for (i = 0; i < 8; i++) {
		s[2 * i].text = complaints[i];
		s[2 * i].len = strlen(complaints[i]);
		s[2 * i].label = 1;
		s[2 * i + 1].text = others[i];
		s[2 * i + 1].len = strlen(others[i]);
		s[2 * i + 1].label = 0;
	}
	classify_train_options_init(&o);
	o.lang = CLASSIFY_EN;
	o.bits = 12;
	o.epochs = 20;
	m = classify_model_train(&o, s, 16, &err);
	ck_assert_msg(m != NULL, "train: %s", err ? err : "?");
	return m;
}

START_TEST(test_model_round_trip)
{
	struct classify_model *m = train_small(), *m2;
	struct classify_options o;
	struct classify_result r;
	struct classify *c;
	unsigned char *buf, *buf2;
	size_t len, len2, i;
	char path[] = "/tmp/rw-check-classify-XXXXXX", *err = NULL;
	int fd;

	ck_assert_int_eq(classify_model_lang(m), CLASSIFY_EN);
	buf = classify_model_write(m, &len);
	ck_assert_uint_eq(len, 36 + 4 * CLASSIFY_NDENSE + 4 * 4096 + 8);
	ck_assert(memcmp(buf, "RWCMODEL", 8) == 0);
	m2 = classify_model_read(buf, len, "mem", &err);
	ck_assert_msg(m2 != NULL, "%s", err ? err : "?");
	buf2 = classify_model_write(m2, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert(memcmp(buf, buf2, len) == 0);
	free(buf2);
	classify_model_free(m2);

	/* Through a file, in a classifier: it learnt the training set. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(classify_model_save(m, path, &err), 0);
	classify_options_init(&o);
	o.lang = CLASSIFY_EN;
	o.model_path = path;
	c = classify_new(&o, &err);
	ck_assert_msg(c != NULL, "%s", err ? err : "?");
	for (i = 0; i < 8; i++) {
		run(c, complaints[i], &r);
		ck_assert_int_eq(r.model, 1);
		ck_assert_msg(r.complaint == 1, "%s: %g", complaints[i], r.score);
		run(c, others[i], &r);
		ck_assert_msg(r.complaint == 0, "%s: %g", others[i], r.score);
	}
	/* The language is fixed (en): the model scores every message. */
	run(c, "Der Zug ist schon wieder zu spät", &r);
	ck_assert_int_eq(r.model, 1);
	classify_free(c);
	unlink(path);
	free(buf);
	classify_model_free(m);
}
END_TEST

/* Re-seal a changed buffer with a right checksum. */
static void
reseal(unsigned char *buf, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < len - 8; i++) {
		h ^= buf[i];
		h *= UINT64_C(0x100000001b3);
	}
	for (i = 0; i < 8; i++)
		buf[len - 8 + i] = (unsigned char)(h >> (8 * i));
}

static void
refused(const unsigned char *buf, size_t len, const char *why)
{
	struct classify_model *m;
	char *err = NULL;

	m = classify_model_read(buf, len, "bad.model", &err);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(err, "bad.model: ", 11) == 0 &&
	    strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err, why);
	free(err);
}

START_TEST(test_model_corrupt)
{
	struct classify_model *m = train_small();
	struct classify_options o;
	unsigned char *buf, *copy;
	size_t len;
	float nan = NAN;
	char *err = NULL;

	buf = classify_model_write(m, &len);
	classify_model_free(m);
	copy = xmalloc(len + 4);

	refused((const unsigned char *)"", 0, "not a replywatch model");
	refused((const unsigned char *)"{\"model\":1}", 11,
	    "not a replywatch model");
	refused(buf, 20, "truncated");
	refused(buf, len - 1, "truncated");
	memcpy(copy, buf, len);
	memset(copy + len, 0, 4);
	refused(copy, len + 4, "trailing bytes");

	memcpy(copy, buf, len);
	copy[8] = 9;
	refused(copy, len, "version 9 is not supported");

	memcpy(copy, buf, len);
	copy[12] = 7;
	refused(copy, len, "unknown language 7");

	memcpy(copy, buf, len);
	copy[16] = 40;
	refused(copy, len, "invalid hash size");

	memcpy(copy, buf, len);
	copy[24] = 99;
	refused(copy, len, "n-gram");

	memcpy(copy, buf, len);
	copy[100] ^= 0x40;
	refused(copy, len, "checksum mismatch");

	memcpy(copy, buf, len);
	memcpy(copy + 200, &nan, 4);
	reseal(copy, len);
	refused(copy, len, "invalid weight");

	/* Through classify_new: the file name is in the message. */
	classify_options_init(&o);
	o.model_path = "/nonexistent/x.model";
	ck_assert_ptr_null(classify_new(&o, &err));
	ck_assert(strstr(err, "/nonexistent/x.model: cannot open") != NULL);
	free(err);
	free(copy);
	free(buf);
}
END_TEST

START_TEST(test_train_refuses)
{
	struct classify_sample s[2] = {
		{ "a", 1, 1 }, { "b", 1, 1 },
	};
	struct classify_train_options o;
	char *err = NULL;

	classify_train_options_init(&o);
	ck_assert_ptr_null(classify_model_train(&o, s, 2, &err));
	ck_assert(strstr(err, "both labels") != NULL);
	free(err);
	ck_assert_ptr_null(classify_model_train(&o, s, 0, &err));
	free(err);
	o.lang = CLASSIFY_AUTO;
	s[1].label = 0;
	ck_assert_ptr_null(classify_model_train(&o, s, 2, &err));
	ck_assert(strstr(err, "en or de") != NULL);
	free(err);
}
END_TEST

START_TEST(test_tokenizer)
{
	struct ctok_buf b;
	static const char text[] = "@acme Can’t LOG in!!! see "
	    "https://x.example/a #Fail Größe 123";

	ctok_init(&b);
	ctok_run(&b, text, sizeof text - 1);
	ck_assert_str_eq(b.low, "can't log in !!! see fail größe 000");
	ck_assert_uint_eq(b.n, 8);
	ck_assert(b.t[1].flags & CTOK_CAPS);
	ck_assert_uint_eq(b.nexclaim, 3);
	ck_assert_uint_eq(b.umlauts, 2);
	ctok_clear(&b);
}
END_TEST

static Suite *
classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_tokenizer);
	tcase_add_test(tc, test_negation);
	tcase_add_test(tc, test_intensifiers_caps_punctuation);
	tcase_add_test(tc, test_english_cues);
	tcase_add_test(tc, test_german_cues);
	tcase_add_test(tc, test_question_vs_complaint);
	tcase_add_test(tc, test_emoji);
	tcase_add_test(tc, test_language);
	tcase_add_test(tc, test_odd_input);
	tcase_add_test(tc, test_extra_cues_threshold);
	suite_add_tcase(s, tc);
	tc = tcase_create("model");
	tcase_add_test(tc, test_model_round_trip);
	tcase_add_test(tc, test_model_corrupt);
	tcase_add_test(tc, test_train_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(classify_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
