/* SPDX-License-Identifier: ISC */
/*
 * Synthetic normalized messages for the benchmarks: see genrows.h.
 *
 * Two passes. The plan simulates every conversation from its own random
 * stream (seeded by the conversation's number) and keeps a 48-byte skeleton
 * per message: when it was written, by whom, what it answers. The skeletons
 * are then sorted in delivery order (the minute a poll would fetch them), and
 * genrows_next() dresses each one up with ids, author, URL and text, the text
 * from a random stream seeded by the message's number. Nothing depends on
 * the order in which the work is done, and only integers are used, so the
 * output is the same everywhere.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genrows.h"

#define SEC		1000LL
#define MIN		(60 * SEC)
#define HOUR		(60 * MIN)
#define DAY		(24 * HOUR)
#define POLL_MS		MIN		/* a connector polls every minute */

#define NONE		UINT32_MAX
#define MAX_AUTHORS	48		/* authors in one broadcast thread */
#define MAX_PENDING	32		/* unanswered messages remembered */
#define TEXT_MAX_CPS	280
#define TEXT_MIN_CPS	20

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Random streams, one per purpose. */
enum {
	S_PLAN = 1,
	S_CONV,
	S_TEXT,
	S_PERSON,
	S_ID,
};

/* ---- randomness ------------------------------------------------------- */

struct rng {
	uint64_t	s;
};

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream, uint64_t idx)
{
	r->s = mix64(mix64(seed + 0x632be59bd9b4e019ULL) ^
	    mix64(stream * 0x9e3779b97f4a7c15ULL + idx));
}

static uint64_t
rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

/* Uniform in [0, n), n < 2^32. */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in [lo, hi). */
static int64_t
rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo));
}

/* True with probability pm / 1000. */
static int
rng_pm(struct rng *r, uint32_t pm)
{
	return rng_below(r, 1000) < pm;
}

/* A bijection of [0, 2^40): ids look random but never collide. */
static uint64_t
scramble40(uint64_t x)
{
	const uint64_t mask = (1ULL << 40) - 1;

	x &= mask;
	x = (x * 0x9e3779b97f4a7c15ULL) & mask;
	x ^= x >> 19;
	x = (x * 0xd6e8feb86659fd93ULL) & mask;
	x ^= x >> 23;
	x = (x * 0xa0761d6478bd642fULL) & mask;
	x ^= x >> 17;
	return x;
}

/* Delays: pick a bucket by weight, then uniformly inside it. */
struct bucket {
	int64_t		 lo, hi;
	uint32_t	 weight;
};

static int64_t
rng_bucket(struct rng *r, const struct bucket *b, size_t n)
{
	uint32_t	 total = 0, x;
	size_t		 i;

	for (i = 0; i < n; i++)
		total += b[i].weight;
	x = rng_below(r, total);
	for (i = 0; i < n - 1; i++) {
		if (x < b[i].weight)
			break;
		x -= b[i].weight;
	}
	return rng_range(r, b[i].lo, b[i].hi);
}

/* Time for a brand to answer. */
static const struct bucket brand_delay[] = {
	{ 30 * SEC, 2 * MIN, 12 },
	{ 2 * MIN, 10 * MIN, 24 },
	{ 10 * MIN, 30 * MIN, 24 },
	{ 30 * MIN, HOUR, 16 },
	{ HOUR, 3 * HOUR, 14 },
	{ 3 * HOUR, 8 * HOUR, 7 },
	{ 8 * HOUR, 24 * HOUR, 3 },
};
/* The brand answers again, once an agent is on the conversation. */
static const struct bucket brand_again[] = {
	{ 20 * SEC, 2 * MIN, 30 },
	{ 2 * MIN, 10 * MIN, 40 },
	{ 10 * MIN, 30 * MIN, 20 },
	{ 30 * MIN, 2 * HOUR, 10 },
};
/* The brand adds to its own message. */
static const struct bucket brand_more[] = {
	{ 10 * SEC, MIN, 50 },
	{ MIN, 5 * MIN, 40 },
	{ 5 * MIN, 30 * MIN, 10 },
};
/* A customer answers the brand. */
static const struct bucket cust_answer[] = {
	{ 20 * SEC, 2 * MIN, 10 },
	{ 2 * MIN, 15 * MIN, 25 },
	{ 15 * MIN, HOUR, 25 },
	{ HOUR, 4 * HOUR, 20 },
	{ 4 * HOUR, 24 * HOUR, 15 },
	{ 24 * HOUR, 48 * HOUR, 3 },
};
/* A customer adds to their own direct message. */
static const struct bucket cust_more[] = {
	{ 5 * SEC, 30 * SEC, 30 },
	{ 30 * SEC, 2 * MIN, 35 },
	{ 2 * MIN, 10 * MIN, 25 },
	{ 10 * MIN, HOUR, 10 },
};
/* Another comment in a public thread (divided for crowded threads). */
static const struct bucket thread_more[] = {
	{ 30 * SEC, 5 * MIN, 30 },
	{ 5 * MIN, 30 * MIN, 35 },
	{ 30 * MIN, 2 * HOUR, 25 },
	{ 2 * HOUR, 12 * HOUR, 10 },
};

/* ---- the world --------------------------------------------------------- */

enum platform { P_X, P_MASTODON, P_BLUESKY, P_FACEBOOK };

static const char *const platform_names[] = {
	"x", "mastodon", "bluesky", "facebook",
};

enum hours {
	H_ALWAYS,	/* a team on duty around the clock */
	H_DAILY,	/* 08:00-20:00 local, every day */
	H_WEEKDAYS,	/* 09:00-18:00 local, Monday to Friday */
};

struct account {
	enum platform	 platform;
	const char	*account;	/* the normalized "account" */
	const char	*handle;	/* in URLs and as outbound author */
	const char	*mention;	/* how customers address it, or NULL */
	const char	*user_id;	/* numeric id, for x DM threads */
	const char	*brand;
	int		 tz_min;	/* UTC offset */
	enum hours	 hours;
	uint32_t	 weight;	/* share of the conversations */
};

static const struct account accounts[] = {
	{ P_X, "northwind_help", "northwind_help", "@northwind_help",
	    "1293847560", "Northwind", -300, H_ALWAYS, 18 },
	{ P_X, "contoso", "contoso", "@contoso",
	    "87124519", "Contoso", 0, H_DAILY, 10 },
	{ P_X, "fabrikam_de", "fabrikam_de", "@fabrikam_de",
	    "3318801922", "Fabrikam", 60, H_WEEKDAYS, 6 },
	{ P_X, "tailspin_jp", "tailspin_jp", "@tailspin_jp",
	    "1460023399", "Tailspin", 540, H_DAILY, 6 },
	{ P_MASTODON, "northwind@mastodon.social", "northwind",
	    "@northwind@mastodon.social", NULL, "Northwind", -300,
	    H_ALWAYS, 5 },
	{ P_MASTODON, "fabrikam@chaos.social", "fabrikam",
	    "@fabrikam@chaos.social", NULL, "Fabrikam", 60, H_WEEKDAYS, 3 },
	{ P_BLUESKY, "northwind.bsky.social", "northwind.bsky.social",
	    "@northwind.bsky.social", NULL, "Northwind", -300, H_ALWAYS, 8 },
	{ P_BLUESKY, "contoso.com", "contoso.com", "@contoso.com", NULL,
	    "Contoso", 0, H_DAILY, 5 },
	{ P_FACEBOOK, "104857600123456", "NorthwindAirlines", NULL, NULL,
	    "Northwind", -300, H_DAILY, 20 },
	{ P_FACEBOOK, "208421337000042", "ContosoUK", NULL, NULL,
	    "Contoso", 0, H_WEEKDAYS, 12 },
};
#define NACCOUNTS	NELEM(accounts)

/* Customers' local hour of writing, weights. */
static const uint32_t diurnal[24] = {
	2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 12,
	11, 11, 11, 10, 10, 10, 10, 9, 8, 7, 5, 3,
};

struct name {
	const char	*display;
	const char	*ascii;
};

static const struct name first_names[] = {
	{ "María", "maria" }, { "José", "jose" }, { "Zoë", "zoe" },
	{ "Søren", "soren" }, { "Łukasz", "lukasz" }, { "Anaïs", "anais" },
	{ "Björn", "bjorn" }, { "Ayşe", "ayse" }, { "Renée", "renee" },
	{ "François", "francois" }, { "Chloé", "chloe" },
	{ "Jürgen", "jurgen" }, { "Ines", "ines" }, { "John", "john" },
	{ "Emma", "emma" }, { "Liam", "liam" }, { "Olivia", "olivia" },
	{ "Noah", "noah" }, { "Ava", "ava" }, { "James", "james" },
	{ "Sophia", "sophia" }, { "Lucas", "lucas" }, { "Mia", "mia" },
	{ "Ethan", "ethan" }, { "Yuki", "yuki" }, { "Hiroshi", "hiroshi" },
	{ "Priya", "priya" }, { "Arjun", "arjun" }, { "Fatima", "fatima" },
	{ "Omar", "omar" }, { "Chen", "chen" }, { "Wei", "wei" },
	{ "Olga", "olga" }, { "Dmitri", "dmitri" }, { "Kwame", "kwame" },
	{ "Amara", "amara" }, { "Sean", "sean" }, { "Siobhán", "siobhan" },
	{ "Mateo", "mateo" }, { "Valentina", "valentina" },
	{ "Niamh", "niamh" }, { "Tomás", "tomas" },
	{ "Agnieszka", "agnieszka" }, { "Hannah", "hannah" },
	{ "David", "david" }, { "Sarah", "sarah" }, { "Michael", "michael" },
	{ "Laura", "laura" }, { "Daniel", "daniel" }, { "Julia", "julia" },
	{ "美咲", "misaki" }, { "Ольга", "olga" }, { "Kai", "kai" },
	{ "Nora", "nora" }, { "Felix", "felix" }, { "Léa", "lea" },
};

static const struct name last_names[] = {
	{ "García", "garcia" }, { "Müller", "muller" },
	{ "Dvořák", "dvorak" }, { "O'Brien", "obrien" },
	{ "Nakamura", "nakamura" }, { "Kowalski", "kowalski" },
	{ "Smith", "smith" }, { "Johnson", "johnson" }, { "Brown", "brown" },
	{ "Nguyễn", "nguyen" }, { "Martínez", "martinez" },
	{ "Rossi", "rossi" }, { "Dubois", "dubois" }, { "Schmidt", "schmidt" },
	{ "Jensen", "jensen" }, { "Andersson", "andersson" },
	{ "Yılmaz", "yilmaz" }, { "Patel", "patel" }, { "Singh", "singh" },
	{ "Kim", "kim" }, { "Lee", "lee" }, { "Wang", "wang" },
	{ "Ivanova", "ivanova" }, { "Okafor", "okafor" },
	{ "Mensah", "mensah" }, { "Silva", "silva" }, { "Santos", "santos" },
	{ "Fernández", "fernandez" }, { "Lefèvre", "lefevre" },
	{ "Novák", "novak" }, { "Hansen", "hansen" }, { "Murphy", "murphy" },
	{ "Walsh", "walsh" }, { "Taylor", "taylor" }, { "Wilson", "wilson" },
	{ "Clarke", "clarke" }, { "Haddad", "haddad" }, { "Cohen", "cohen" },
	{ "Tanaka", "tanaka" }, { "Sato", "sato" }, { "Ødegård", "odegard" },
	{ "Mäkinen", "makinen" }, { "Byrne", "byrne" }, { "Costa", "costa" },
};

static const char *const handle_words[] = {
	"sleepy", "otter", "coffee", "pixel", "nomad", "tiny", "panda",
	"river", "maple", "rocket", "quiet", "storm", "lemon", "fox",
	"retro", "cloud", "wander", "bytes", "sunny", "falcon",
};

static const char *const instances[] = {
	"mastodon.social", "fosstodon.org", "hachyderm.io", "mstdn.jp",
	"chaos.social", "mas.to", "infosec.exchange", "mastodon.ie",
};

/* ---- text -------------------------------------------------------------- */

static const char *const greetings[] = {
	"Hi", "Hello", "Hey", "Hey there,", "Hallo", "Bonjour", "¡Hola!",
	"Good morning,", "Hi team,", "Evening all,", "Excuse me,",
};

static const char *const subjects[] = {
	"my order", "the app", "my flight", "the delivery", "my refund",
	"the invoice", "my account", "the checkout page", "my package",
	"the login", "the latest update", "my booking", "the parcel",
	"my subscription", "the website", "my card payment", "the courier",
	"the tracking link", "my seat", "the loyalty points",
};

static const char *const problems[] = {
	"still hasn't arrived", "keeps crashing", "was cancelled without notice",
	"charged me twice", "is stuck in \"processing\"", "won't load",
	"shows an error", "has been delayed again", "is missing an item",
	"says \"delivered\" but nothing is here", "logged me out",
	"won't accept my card", "is not working", "disappeared",
	"arrived damaged", "was sent to the wrong address",
	"shows the wrong price", "has a weird bug", "is really slow today",
	"asks for a code I never received",
};

static const char *const whens[] = {
	"since Monday", "for 3 days", "after the last update", "this morning",
	"all week", "since yesterday", "for the second time", "again",
	"two weeks in a row", "since 14:00", "right now", "tonight",
};

static const char *const asks[] = {
	"Can someone help?", "Any update?", "What's going on?",
	"This is ridiculous.", "Please DM me.", "Is there an outage?",
	"Who do I talk to?", "How long will this take?",
	"I need this fixed today.", "Is anyone there?", "Help!",
	"Not impressed.", "Seriously?", "Please advise.",
	"Thanks in advance.", "Any ETA?",
};

static const char *const details[] = {
	"Order #A48213 if that helps.", "Booking ref XK7Q2P.",
	"Error: \"ERR_CONNECTION_RESET\"", "They told me \"next week\" – again.",
	"The app says: \"Something went wrong (code 503)\".",
	"Tracking: https://track.example.com/p/7731-0925",
	"Screenshot attached.", "I'm in São Paulo right now.",
	"Trying to get to Zürich tomorrow.", "It's my third email about this.",
	"Support chat closed on me twice.", "The file is in C:\\Users\\me\\Downloads",
	"Paid 129,90 € for this.", "Ordered on 28/10, still nothing.",
	"Flight NW2041 to München.", "Reference no. 55-0192-7718.",
	"My café's order for Kraków.", "Path was /account/settings → billing.",
	"It said 'try again later' ten times.", "naïve question maybe but…",
	"ありがとう in advance 🙏", "Спасибо.", "Merci d'avance !",
	"Called the hotline: 45 minutes on hold.",
};

static const char *const followups[] = {
	"Hello??", "Any update?", "Still waiting.", "Anyone?",
	"Also the refund hasn't shown up.", "Adding: it happened again just now.",
	"Sorry, forgot to say: it's the Android app.",
	"Ok now it says \"payment pending\".", "?", "Bump.",
	"Never mind, found the email. Still broken though.",
	"Just tried again. Same thing.", "I've sent a DM.",
};

static const char *const answers[] = {
	"Thanks, DM sent.", "Done, check your inbox.", "I did that already.",
	"That worked, thank you!", "It didn't work.", "Ok, thanks.",
	"My order number is #A77120.", "Still not fixed.",
	"Thank you so much! 😊", "I'll wait then.", "Sent you the details.",
	"Why do I have to repeat everything?", "Great, appreciate it 👍",
	"No, I never got that email.", "Perfect.",
};

static const char *const reactions[] = {
	"About time!", "Finally 🎉", "Still no word about my refund though.",
	"Love this ❤️", "Does this apply to existing bookings?",
	"Can you fix the app first?", "When will this reach Ireland?",
	"This is great news.", "Meh.", "Is the \"new\" app still beta?",
	"👏👏👏", "Will the old prices be honored?",
	"Any chance of this in Deutschland?",
};

static const char *const metoo[] = {
	"Same here.", "Same problem for me!", "+1", "Me too, since yesterday.",
	"Glad it's not just me.", "Exactly the same thing happened to me.",
	"Following.", "Any news on this?", "Same in Berlin.",
	"Mine too – \"delivered\" but no parcel.",
};

static const char *const apologies[] = {
	"sorry to hear that!", "thanks for reaching out.",
	"we're sorry about the trouble.", "thanks for your patience.",
	"sorry for the wait.", "we understand how frustrating this is.",
	"thanks for letting us know.", "happy to help!",
};

static const char *const actions[] = {
	"Could you DM us your order number?",
	"We've escalated this to our team.",
	"Our engineers are looking into it right now.",
	"I've issued a refund; it should appear in 3–5 business days.",
	"Please try updating the app to version 4.12.",
	"Can you send us a DM with your booking reference?",
	"We've re-sent the confirmation email.",
	"A new parcel is on its way to you.",
	"Please clear the cache and log in again.",
	"I've added a note to your case so you won't need to repeat yourself.",
	"The issue is fixed now; could you try again?",
	"We've passed this on to the courier.",
	"You'll get an email from us within 24 hours.",
};

static const char *const updates[] = {
	"Update: the fix is rolling out now.",
	"Quick update: your refund has been approved.",
	"Just checking in: is everything working now?",
	"We've also credited 500 points to your account.",
	"Following up: the courier confirmed delivery for tomorrow.",
	"PS: the outage page is at https://status.example.com",
};

static const char *const announcements[] = {
	"We're aware of an issue with the app and are working on a fix.",
	"Good news: online check-in now opens 48 hours before departure!",
	"Our winter schedule is live. Where are you heading?",
	"Planned maintenance tonight 01:00–03:00 UTC; the app may be slow.",
	"New: track your parcel in real time in the app.",
	"Heads-up: we're seeing delays on deliveries to Scotland.",
	"Black Friday starts now. Thanks for being with us!",
	"We've updated our refund policy; details on our site.",
};

static const char *const signatures[] = {
	"^JM", "^Sam", "– Ana", "/Kim", "^TR", "– Léa", "^DK",
};

static const char *const emoji[] = {
	"😡", "🙄", "😀", "🙏", "👍", "✈️", "📦", "💸", "🤷‍♀️", "❤️", "😤",
	"🚀", "😭", "😂",
};

static const char *const words[] = {
	"the", "a", "and", "my", "your", "this", "that", "it", "is", "was",
	"not", "still", "again", "never", "always", "today", "tomorrow",
	"yesterday", "week", "order", "parcel", "refund", "app", "phone",
	"email", "website", "account", "password", "code", "card", "payment",
	"bank", "driver", "courier", "flight", "gate", "seat", "bag",
	"luggage", "hotel", "train", "delay", "update", "ticket", "support",
	"agent", "chat", "hotline", "manager", "store", "shop", "price",
	"discount", "voucher", "coupon", "points", "member", "status",
	"screen", "button", "error", "message", "notification", "address",
	"delivery", "pickup", "box", "item", "size", "colour", "replacement",
	"warranty", "receipt", "invoice", "subscription", "plan", "bill",
	"charge", "fee", "waiting", "waited", "hours", "days", "minutes",
	"again", "really", "very", "quite", "totally", "honestly", "literally",
	"frustrating", "annoying", "great", "awful", "slow", "fast", "broken",
	"fixed", "working", "missing", "wrong", "late", "early", "lost",
	"found", "cancelled", "confirmed", "pending", "approved", "declined",
	"received", "sent", "opened", "closed", "tried", "asked", "called",
	"told", "promised", "said", "checked", "changed", "booked", "paid",
	"ordered", "returned", "moved", "please", "thanks", "help", "why",
	"how", "when", "where", "who", "what", "anyone", "someone", "nobody",
	"everyone", "family", "kids", "work", "holiday", "birthday",
	"weekend", "morning", "evening", "night", "airport", "station",
	"city", "village", "door", "neighbour", "office", "downtown",
	"café", "naïve", "déjà", "vu", "jalapeño", "crème", "brûlée",
	"Zürich", "München", "Kraków", "Malmö", "São", "Paulo", "Ærø",
	"Straße", "über", "très", "façade", "señor", "niño", "Ελλάδα",
	"東京", "大阪", "ありがとう", "спасибо", "привет", "Čeština",
	"fjörd", "smörgåsbord", "piñata", "coöperate",
	"10%", "€20", "$49.99", "£15", "2x", "24/7", "3-5", "#fail",
	"#help", "#customerservice", "lol", "smh", "tbh", "fyi", "asap",
};

struct tbuf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	uint32_t	 cps;	/* code points */
};

static uint32_t
count_cps(const char *s, size_t *bytes)
{
	uint32_t	 n = 0;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	*bytes = i;
	return n;
}

/* Append sep then s if it fits in TEXT_MAX_CPS; 1 if added. */
static int
tb_add(struct tbuf *t, const char *sep, const char *s)
{
	size_t		 sb, pb;
	uint32_t	 sc, pc;

	if (t->len == 0)
		sep = "";
	sc = count_cps(sep, &sb);
	pc = count_cps(s, &pb);
	if (t->cps + sc + pc > TEXT_MAX_CPS || t->len + sb + pb >= t->cap)
		return 0;
	memcpy(t->p + t->len, sep, sb);
	memcpy(t->p + t->len + sb, s, pb);
	t->len += sb + pb;
	t->p[t->len] = '\0';
	t->cps += sc + pc;
	return 1;
}

static const char *
pick(struct rng *r, const char *const *a, size_t n)
{
	return a[rng_below(r, (uint32_t)n)];
}
#define PICK(r, a)	pick((r), (a), NELEM(a))

/* Separator between sentences: mostly a space, sometimes line breaks. */
static const char *
sentence_sep(struct rng *r)
{
	uint32_t	 x = rng_below(r, 1000);

	if (x < 50)
		return "\n";
	if (x < 80)
		return "\n\n";
	if (x < 84)
		return "\t";
	return " ";
}

/* A sentence of random words, capitalized, with an end mark. */
static void
random_sentence(struct rng *r, char *buf, size_t len)
{
	static const char *const ends[] = {
		".", ".", ".", "!", "?", "...", "…", "!!", " :(", " :)",
	};
	size_t		 n, i, off = 0, wl;
	const char	*w;

	n = 3 + rng_below(r, 10);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		w = PICK(r, words);
		wl = strlen(w);
		if (off + wl + 8 >= len)
			break;
		if (i > 0)
			buf[off++] = ' ';
		memcpy(buf + off, w, wl);
		if (i == 0 && buf[off] >= 'a' && buf[off] <= 'z')
			buf[off] = (char)(buf[off] - 'a' + 'A');
		off += wl;
	}
	w = PICK(r, ends);
	wl = strlen(w);
	memcpy(buf + off, w, wl + 1);
}

/* Fill up with sentences, then words, to about target code points. */
static void
fill_text(struct rng *r, struct tbuf *t, uint32_t target)
{
	char		 s[256];
	int		 tries;

	for (tries = 0; t->cps < target && tries < 12; tries++) {
		random_sentence(r, s, sizeof s);
		tb_add(t, sentence_sep(r), s);
	}
	for (tries = 0; t->cps < target && tries < 40; tries++)
		tb_add(t, " ", PICK(r, words));
}

static uint32_t
text_target(struct rng *r)
{
	uint32_t	 x = rng_below(r, 100);

	if (x < 25)
		return (uint32_t)rng_range(r, TEXT_MIN_CPS, 60);
	if (x < 55)
		return (uint32_t)rng_range(r, 60, 120);
	if (x < 80)
		return (uint32_t)rng_range(r, 120, 200);
	return (uint32_t)rng_range(r, 200, TEXT_MAX_CPS + 1);
}

/* ---- plan -------------------------------------------------------------- */

enum {
	F_ROOT = 0x01,		/* first message of its conversation */
	F_SAMEDIR = 0x02,	/* the previous one had the same direction */
	F_BRANDPOST = 0x04,	/* in a thread under the brand's own post */
};

struct skel {
	int64_t		 key;		/* delivery: when a poll fetches it */
	int64_t		 created_ms;
	uint32_t	 m;		/* message number, unique */
	uint32_t	 conv;
	int64_t		 reply_ms;	/* when that one was written */
	uint32_t	 reply_to;	/* m answered, or NONE */
	uint32_t	 who;		/* inbound: author; outbound: addressee */
	uint8_t		 account;
	uint8_t		 kind;
	uint8_t		 dir;
	uint8_t		 flags;
};

struct conv {
	int64_t		 start_ms;
	int64_t		 root_ms;	/* created_ms of its first message */
	uint32_t	 first_m;
	uint32_t	 size;
	uint32_t	 cust;
	uint8_t		 account;
	uint8_t		 kind;
};

struct person {
	const struct name *first;
	const struct name *last;
	char		 handle[64];	/* ASCII base of the handle */
	const char	*instance;
	int		 custom_domain;
};

struct genrows {
	uint64_t	 n;
	uint64_t	 nconv;
	uint64_t	 seed;
	uint32_t	 ncust;
	struct conv	*convs;
	struct skel	*skel;
	uint64_t	 next;

	/* The current row's strings. */
	char		 id[64];
	char		 conversation[64];
	char		 author[128];
	char		 in_reply_to[64];
	char		 url[256];
	char		 text[2048];
};

static int
local_weekday(int64_t local_ms)
{
	/* 1970-01-01 was a Thursday; 0 is Sunday. */
	return (int)(((local_ms / DAY) + 4) % 7);
}

/* The first instant from t on at which the account's team answers. */
static int64_t
open_at(const struct account *a, struct rng *r, int64_t t)
{
	int64_t		 local, day, tod, open, close;
	int		 i, wd;

	if (a->hours == H_ALWAYS)
		return t;
	if (a->hours == H_DAILY) {
		open = 8 * HOUR;
		close = 20 * HOUR;
	} else {
		open = 9 * HOUR;
		close = 18 * HOUR;
	}
	local = t + a->tz_min * MIN;
	day = local / DAY;
	tod = local % DAY;
	for (i = 0; i < 8; i++, day++, tod = 0) {
		wd = local_weekday(day * DAY);
		if (a->hours == H_WEEKDAYS && (wd == 0 || wd == 6))
			continue;
		if (tod >= close)
			continue;
		if (tod >= open)
			return day * DAY + tod - a->tz_min * MIN;
		/* Opening: the night's backlog is worked through. */
		return day * DAY + open - a->tz_min * MIN +
		    rng_range(r, 2 * MIN, 90 * MIN);
	}
	return t;
}

static uint32_t
size_weight(struct rng *r, int kind)
{
	uint32_t	 w;

	if (kind == GENROWS_DIRECT) {
		if (rng_pm(r, 150))
			return 0;
		w = 1 + rng_below(r, 16);
		w += rng_below(r, 16);
		if (rng_pm(r, 100))
			w += rng_below(r, 60);
		return w;
	}
	/* Broadcast: many lone mentions, a heavy tail of busy threads. */
	if (rng_pm(r, 200))
		return 0;
	return 3000 / (4 + rng_below(r, 997));
}

/* Spread extra messages over the conversations of one kind in proportion
 * to their weights, by cumulative rounding (exact total). */
static void
spread(struct conv *cv, uint32_t *w, uint64_t lo, uint64_t hi, uint64_t extra)
{
	uint64_t	 total = 0, cum = 0, prev = 0, cur, i;

	for (i = lo; i < hi; i++)
		total += w[i];
	if (total == 0) {
		for (i = lo; i < hi; i++)
			w[i] = 1;
		total = hi - lo;
	}
	for (i = lo; i < hi; i++) {
		cum += w[i];
		cur = i + 1 == hi ? extra : extra / total * cum +
		    extra % total * cum / total;
		cv[i].size = 1 + (uint32_t)(cur - prev);
		prev = cur;
	}
}

static int64_t
conv_start(struct rng *r, const struct account *a)
{
	uint32_t	 total = 0, x;
	int64_t		 tod, day;
	int		 h;

	for (h = 0; h < 24; h++)
		total += diurnal[h];
	x = rng_below(r, total);
	for (h = 0; h < 23; h++) {
		if (x < diurnal[h])
			break;
		x -= diurnal[h];
	}
	day = rng_below(r, GENROWS_DAYS);
	tod = h * HOUR + rng_range(r, 0, HOUR) - a->tz_min * MIN;
	tod = ((tod % DAY) + DAY) % DAY;
	return GENROWS_EPOCH_MS + day * DAY + tod;
}

static uint32_t
pick_account(struct rng *r)
{
	uint32_t	 total = 0, x;
	size_t		 i;

	for (i = 0; i < NACCOUNTS; i++)
		total += accounts[i].weight;
	x = rng_below(r, total);
	for (i = 0; i < NACCOUNTS - 1; i++) {
		if (x < accounts[i].weight)
			break;
		x -= accounts[i].weight;
	}
	return (uint32_t)i;
}

/* Play one conversation, filling its skeletons (indexed by m). */
static void
simulate(struct genrows *g, uint32_t c)
{
	const struct conv *cv = &g->convs[c];
	const struct account *a = &accounts[cv->account];
	struct rng	 r;
	struct skel	*s;
	uint32_t	 pend[MAX_PENDING], authors[MAX_AUTHORS];
	uint32_t	 k, npend = 0, nauthors = 1, last_out = NONE;
	uint32_t	 last_to = NONE, root = cv->first_m;
	int64_t		 t = cv->start_ms, gap;
	int		 bcast = cv->kind == GENROWS_BROADCAST, dir, prev = -1;
	int		 brandpost = 0, answered = 0;

	rng_seed(&r, g->seed, S_CONV, c);
	authors[0] = cv->cust;
	if (bcast && cv->size >= 3 && (cv->size > 30 || rng_pm(&r, 350))) {
		nauthors = 2 + rng_below(&r, cv->size / 2 < 8 ? cv->size / 2 : 8);
		if (cv->size > 30)
			nauthors += cv->size / 6;
		if (nauthors > MAX_AUTHORS)
			nauthors = MAX_AUTHORS;
		for (k = 1; k < nauthors; k++)
			authors[k] = rng_below(&r, g->ncust);
	}
	for (k = 0; k < cv->size; k++) {
		s = &g->skel[cv->first_m + k];
		s->m = cv->first_m + k;
		s->conv = c;
		s->account = cv->account;
		s->kind = cv->kind;
		s->flags = 0;
		s->reply_to = NONE;
		s->who = NONE;

		/* Who writes. */
		if (k == 0)
			dir = bcast && rng_pm(&r, 120) ? GENROWS_OUTBOUND :
			    GENROWS_INBOUND;
		else if (k + 1 == cv->size && npend > 0)
			/* Most conversations end answered; some never are. */
			dir = rng_pm(&r, 850) ? GENROWS_OUTBOUND :
			    GENROWS_INBOUND;
		else if (prev == GENROWS_INBOUND)
			dir = rng_pm(&r, bcast ? 450 : 550) ? GENROWS_OUTBOUND :
			    GENROWS_INBOUND;
		else
			dir = rng_pm(&r, 80) ? GENROWS_OUTBOUND :
			    GENROWS_INBOUND;

		/* When. */
		if (k == 0)
			;
		else if (dir == GENROWS_OUTBOUND && npend > 0) {
			gap = answered ?
			    rng_bucket(&r, brand_again, NELEM(brand_again)) :
			    rng_bucket(&r, brand_delay, NELEM(brand_delay));
			t = open_at(a, &r, t + gap);
			answered = 1;
		} else if (dir == GENROWS_OUTBOUND)
			t += rng_bucket(&r, brand_more, NELEM(brand_more));
		else if (prev == GENROWS_OUTBOUND) {
			/* Long conversations are live exchanges. */
			gap = rng_bucket(&r, cust_answer, NELEM(cust_answer));
			if (cv->size > 12)
				gap = gap * 12 / cv->size;
			t += gap < 20 * SEC ? 20 * SEC : gap;
		} else if (!bcast)
			t += rng_bucket(&r, cust_more, NELEM(cust_more));
		else {
			gap = rng_bucket(&r, thread_more, NELEM(thread_more));
			if (cv->size > 20)
				gap = gap * 20 / cv->size;
			t += gap < 2 * SEC ? 2 * SEC : gap;
		}
		/* Bluesky keeps milliseconds, the others whole seconds. */
		s->created_ms = a->platform == P_BLUESKY ? t :
		    t - t % SEC;

		if (k == 0) {
			g->convs[c].root_ms = s->created_ms;
			s->flags |= F_ROOT;
			brandpost = bcast && dir == GENROWS_OUTBOUND;
		}
		if (brandpost)
			s->flags |= F_BRANDPOST;
		if (dir == prev)
			s->flags |= F_SAMEDIR;
		s->dir = (uint8_t)dir;

		/* What it answers. */
		if (dir == GENROWS_INBOUND) {
			if (!bcast)
				s->who = cv->cust;
			else if (k == 0)
				s->who = authors[0];
			else if (prev == GENROWS_OUTBOUND && last_to != NONE &&
			    rng_pm(&r, 600)) {
				/* The one the brand answered answers back. */
				s->who = last_to;
				s->reply_to = last_out;
			} else {
				s->who = nauthors == 1 || rng_pm(&r, 450) ?
				    authors[0] :
				    authors[1 + rng_below(&r, nauthors - 1)];
				s->reply_to = root;
			}
			if (npend == MAX_PENDING) {
				/* The oldest is never answered. */
				memmove(pend, pend + 1,
				    (MAX_PENDING - 1) * sizeof pend[0]);
				npend--;
			}
			pend[npend++] = s->m;
		} else if (!bcast) {
			s->who = cv->cust;
			npend = 0;
		} else if (k == 0) {
			/* The brand's own post: comments will follow. */
		} else if (npend > 0) {
			/* Answer the oldest waiting comment, now and then
			 * passing one over for good. */
			if (npend > 1 && rng_pm(&r, 100)) {
				memmove(pend, pend + 1,
				    (npend - 1) * sizeof pend[0]);
				npend--;
			}
			s->reply_to = pend[0];
			s->who = g->skel[pend[0]].who;
			memmove(pend, pend + 1, (npend - 1) * sizeof pend[0]);
			npend--;
		} else {
			/* Adding to its own reply, or to its post. */
			s->reply_to = last_out != NONE ? last_out : root;
			s->who = last_to;
		}
		if (s->reply_to != NONE)
			s->reply_ms = g->skel[s->reply_to].created_ms;
		if (dir == GENROWS_OUTBOUND) {
			last_out = s->m;
			last_to = s->who;
		}
		prev = dir;
		s->key = ((s->created_ms + POLL_MS - 1) / POLL_MS) * POLL_MS +
		    (int64_t)s->account * 4 * SEC;
	}
}

static int
skel_cmp(const void *pa, const void *pb)
{
	const struct skel *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->account != b->account)
		return a->account < b->account ? -1 : 1;
	if (a->created_ms != b->created_ms)
		return a->created_ms < b->created_ms ? -1 : 1;
	return a->m < b->m ? -1 : a->m > b->m;
}

struct genrows *
genrows_new(uint64_t n, uint64_t nconv, uint64_t seed, char *err,
    size_t errlen)
{
	struct genrows	*g;
	struct rng	 r;
	uint32_t	*w;
	uint64_t	 c, ndc, ndm, m;

	if (nconv < 2 || nconv > n || n > GENROWS_MAX_N) {
		snprintf(err, errlen, "need 2 <= conversations <= messages "
		    "<= %llu", (unsigned long long)GENROWS_MAX_N);
		return NULL;
	}
	if ((g = calloc(1, sizeof *g)) == NULL ||
	    (g->convs = calloc(nconv, sizeof *g->convs)) == NULL ||
	    (g->skel = calloc(n, sizeof *g->skel)) == NULL ||
	    (w = calloc(nconv, sizeof *w)) == NULL) {
		snprintf(err, errlen, "out of memory");
		genrows_free(g);
		return NULL;
	}
	g->n = n;
	g->nconv = nconv;
	g->seed = seed;
	g->ncust = nconv * 3 / 4 < 1000 ? 1000 : (uint32_t)(nconv * 3 / 4);

	/* Conversations [0, ndc) are direct, the rest broadcast. */
	ndc = nconv / 2;
	ndm = n / 2;
	rng_seed(&r, seed, S_PLAN, 0);
	for (c = 0; c < nconv; c++) {
		g->convs[c].kind = c < ndc ? GENROWS_DIRECT : GENROWS_BROADCAST;
		g->convs[c].account = (uint8_t)pick_account(&r);
		g->convs[c].start_ms = conv_start(&r,
		    &accounts[g->convs[c].account]);
		g->convs[c].cust = rng_below(&r, g->ncust);
		w[c] = size_weight(&r, g->convs[c].kind);
	}
	spread(g->convs, w, 0, ndc, ndm - ndc);
	spread(g->convs, w, ndc, nconv, (n - ndm) - (nconv - ndc));
	free(w);

	for (c = 0, m = 0; c < nconv; c++) {
		g->convs[c].first_m = (uint32_t)m;
		m += g->convs[c].size;
	}
	for (c = 0; c < nconv; c++)
		simulate(g, (uint32_t)c);
	qsort(g->skel, n, sizeof *g->skel, skel_cmp);
	return g;
}

void
genrows_free(struct genrows *g)
{
	if (g == NULL)
		return;
	free(g->convs);
	free(g->skel);
	free(g);
}

/* ---- dressing a skeleton up -------------------------------------------- */

static void
person_get(const struct genrows *g, uint32_t cust, struct person *p)
{
	struct rng	 r;
	const char	*w1, *w2;
	uint32_t	 style;

	rng_seed(&r, g->seed, S_PERSON, cust);
	p->first = &first_names[rng_below(&r, NELEM(first_names))];
	p->last = &last_names[rng_below(&r, NELEM(last_names))];
	p->instance = PICK(&r, instances);
	p->custom_domain = rng_pm(&r, 60);
	style = rng_below(&r, 5);
	switch (style) {
	case 0:
		snprintf(p->handle, sizeof p->handle, "%s_%s%u",
		    p->first->ascii, p->last->ascii, rng_below(&r, 100));
		break;
	case 1:
		snprintf(p->handle, sizeof p->handle, "%s%s",
		    p->first->ascii, p->last->ascii);
		break;
	case 2:
		snprintf(p->handle, sizeof p->handle, "%c%s%u",
		    p->first->ascii[0], p->last->ascii,
		    1960 + rng_below(&r, 46));
		break;
	case 3:
		snprintf(p->handle, sizeof p->handle, "%s.%s",
		    p->first->ascii, p->last->ascii);
		break;
	default:
		w1 = PICK(&r, handle_words);
		w2 = PICK(&r, handle_words);
		snprintf(p->handle, sizeof p->handle, "%s_%s%u", w1, w2,
		    rng_below(&r, 1000));
		break;
	}
}

/* How the person appears as an author on the platform. */
static void
person_author(const struct person *p, enum platform pl, char *buf,
    size_t len)
{
	char		*q;

	switch (pl) {
	case P_X:
		snprintf(buf, len, "%s", p->handle);
		for (q = buf; *q != '\0'; q++)
			if (*q == '.')
				*q = '_';
		break;
	case P_MASTODON:
		snprintf(buf, len, "%s@%s", p->handle, p->instance);
		break;
	case P_BLUESKY:
		if (p->custom_domain)
			snprintf(buf, len, "%s.%s.net", p->first->ascii,
			    p->last->ascii);
		else
			snprintf(buf, len, "%s.bsky.social", p->handle);
		for (q = buf; *q != '\0'; q++)
			if (*q == '_')
				*q = '-';
		break;
	case P_FACEBOOK:
		snprintf(buf, len, "%s %s", p->first->display,
		    p->last->display);
		break;
	}
}

static void
tid_encode(uint64_t v, char *buf)
{
	static const char alpha[] = "234567abcdefghijklmnopqrstuvwxyz";
	int		 i;

	for (i = 12; i >= 0; i--) {
		buf[i] = alpha[v & 31];
		v >>= 5;
	}
	buf[13] = '\0';
}

/*
 * The id of message m, written at created_ms: unique within its platform and
 * account. Like the platforms' own (snowflakes, TIDs), most ids grow with
 * time: the second in the high bits, m (< 2^26, see GENROWS_MAX_N) in the
 * low ones. Messenger's message ids look random, and so do these.
 */
static void
message_id(const struct genrows *g, const struct skel *s, uint32_t m,
    int64_t created_ms, char *buf, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const struct account *a = &accounts[s->account];
	uint64_t	 sec = (uint64_t)(created_ms / SEC), x, h;
	int		 i;

	switch (a->platform) {
	case P_X:
		snprintf(buf, len, "%llu", (unsigned long long)
		    (1800000000000000000ULL +
		    ((sec - 1288834974) << 26 | m)));
		break;
	case P_MASTODON:
		snprintf(buf, len, "%llu", (unsigned long long)
		    (sec << 26 | m));
		break;
	case P_BLUESKY:
		tid_encode(1ULL << 61 | sec << 26 | m, buf);
		break;
	case P_FACEBOOK:
		if (s->kind == GENROWS_BROADCAST) {
			snprintf(buf, len, "%s_%llu", a->account,
			    (unsigned long long)(1000000000000000ULL +
			    ((sec - 1700000000) << 26 | m)));
			break;
		}
		x = scramble40(m);
		h = mix64(g->seed ^ (m * 31ULL + 7));
		buf[0] = 'm';
		buf[1] = '_';
		for (i = 0; i < 7; i++)
			buf[2 + i] = b64[(x >> (6 * i)) & 63];
		for (i = 0; i < 15; i++)
			buf[9 + i] = b64[(h >> (4 * i)) & 63];
		buf[24] = '\0';
		break;
	}
}

/* A direct conversation's thread id. */
static void
thread_id(const struct genrows *g, const struct skel *s, char *buf,
    size_t len)
{
	const struct account *a = &accounts[s->account];
	uint64_t	 x = scramble40(s->conv), h = mix64(g->seed ^ s->conv);

	switch (a->platform) {
	case P_X:
		snprintf(buf, len, "%llu-%s",
		    (unsigned long long)(1000000000000ULL + x), a->user_id);
		break;
	case P_MASTODON:
		snprintf(buf, len, "%llu", (unsigned long long)(100000 + x));
		break;
	case P_BLUESKY:
		tid_encode((1ULL << 61) | (x << 12) | (h & 4095), buf);
		break;
	case P_FACEBOOK:
		snprintf(buf, len, "t_%llu", (unsigned long long)
		    (100000000000000ULL + x * 100 + h % 100));
		break;
	}
}

static void
make_url(struct genrows *g, const struct skel *s, const struct person *who)
{
	const struct account *a = &accounts[s->account];
	char		 author[128], root[64];
	const char	*post;

	if (s->kind != GENROWS_BROADCAST) {
		g->url[0] = '\0';
		return;
	}
	if (s->dir == GENROWS_INBOUND)
		person_author(who, a->platform, author, sizeof author);
	switch (a->platform) {
	case P_X:
		snprintf(g->url, sizeof g->url, "https://x.com/%s/status/%s",
		    s->dir == GENROWS_INBOUND ? author : a->handle, g->id);
		break;
	case P_MASTODON:
		if (s->dir == GENROWS_INBOUND)
			snprintf(g->url, sizeof g->url, "https://%s/@%s/%s",
			    who->instance, who->handle, g->id);
		else
			snprintf(g->url, sizeof g->url, "https://%s/@%s/%s",
			    strchr(a->account, '@') + 1, a->handle, g->id);
		break;
	case P_BLUESKY:
		snprintf(g->url, sizeof g->url,
		    "https://bsky.app/profile/%s/post/%s",
		    s->dir == GENROWS_INBOUND ? author : a->handle, g->id);
		break;
	case P_FACEBOOK:
		post = strchr(g->id, '_') + 1;
		if (s->flags & F_ROOT) {
			snprintf(g->url, sizeof g->url,
			    "https://www.facebook.com/%s/posts/%s",
			    a->handle, post);
			break;
		}
		snprintf(root, sizeof root, "%s", g->conversation);
		snprintf(g->url, sizeof g->url,
		    "https://www.facebook.com/%s/posts/%s?comment_id=%s",
		    a->handle, strchr(root, '_') + 1, post);
		break;
	}
}

static void
make_text(struct genrows *g, const struct skel *s, const struct person *who)
{
	const struct account *a = &accounts[s->account];
	struct rng	 r;
	struct tbuf	 t;
	const char	*w1, *w2, *w3;
	char		 tmp[256], author[128];
	uint32_t	 target;

	rng_seed(&r, g->seed, S_TEXT, s->m);
	t.p = g->text;
	t.len = 0;
	t.cap = sizeof g->text;
	t.cps = 0;
	g->text[0] = '\0';
	target = text_target(&r);

	if (s->dir == GENROWS_INBOUND) {
		if (s->kind == GENROWS_BROADCAST && a->mention != NULL &&
		    !rng_pm(&r, 80))
			tb_add(&t, " ", a->mention);
		if (s->flags & F_ROOT || (s->kind == GENROWS_BROADCAST &&
		    s->reply_to == g->convs[s->conv].first_m &&
		    !(s->flags & F_BRANDPOST) && rng_pm(&r, 600))) {
			/* A new complaint or question. */
			if (rng_pm(&r, 300))
				tb_add(&t, " ", PICK(&r, greetings));
			w1 = PICK(&r, subjects);
			w2 = PICK(&r, problems);
			w3 = PICK(&r, whens);
			snprintf(tmp, sizeof tmp, "%s %s %s.", w1, w2, w3);
			if (t.len == 0 && tmp[0] >= 'a' && tmp[0] <= 'z')
				tmp[0] = (char)(tmp[0] - 'a' + 'A');
			tb_add(&t, " ", tmp);
			if (t.cps < target && rng_pm(&r, 500)) {
				w1 = sentence_sep(&r);
				tb_add(&t, w1, PICK(&r, details));
			}
			if (t.cps < target)
				tb_add(&t, " ", PICK(&r, asks));
		} else if (s->flags & F_SAMEDIR &&
		    s->kind == GENROWS_DIRECT) {
			tb_add(&t, " ", PICK(&r, followups));
		} else if (s->kind == GENROWS_BROADCAST &&
		    s->reply_to == g->convs[s->conv].first_m) {
			/* A comment on the post. */
			tb_add(&t, " ", s->flags & F_BRANDPOST ?
			    PICK(&r, reactions) : PICK(&r, metoo));
		} else if (s->flags & F_SAMEDIR) {
			tb_add(&t, " ", PICK(&r, followups));
		} else {
			/* Answering the brand. */
			tb_add(&t, " ", PICK(&r, answers));
		}
		if (t.cps < target && rng_pm(&r, 200)) {
			w1 = sentence_sep(&r);
			tb_add(&t, w1, PICK(&r, details));
		}
		if (rng_pm(&r, 250))
			tb_add(&t, " ", PICK(&r, emoji));
	} else if (s->flags & F_ROOT) {
		tb_add(&t, " ", PICK(&r, announcements));
	} else {
		if (s->kind == GENROWS_BROADCAST && s->who != NONE &&
		    a->platform != P_FACEBOOK) {
			person_author(who, a->platform, author, sizeof author);
			snprintf(tmp, sizeof tmp, "@%s", author);
			tb_add(&t, " ", tmp);
		}
		if (s->flags & F_SAMEDIR) {
			tb_add(&t, " ", PICK(&r, updates));
		} else {
			if (s->who != NONE)
				snprintf(tmp, sizeof tmp, "Hi %s, %s",
				    who->first->display, PICK(&r, apologies));
			else
				snprintf(tmp, sizeof tmp, "Hi, %s",
				    PICK(&r, apologies));
			tb_add(&t, " ", tmp);
			if (t.cps < target || rng_pm(&r, 700))
				tb_add(&t, " ", PICK(&r, actions));
		}
		if (rng_pm(&r, 500))
			tb_add(&t, " ", PICK(&r, signatures));
	}
	fill_text(&r, &t, target < TEXT_MIN_CPS ? TEXT_MIN_CPS : target);
}

int
genrows_next(struct genrows *g, struct genrow *row)
{
	const struct skel *s;
	const struct account *a;
	struct person	 who;
	uint64_t	 i = g->next;

	if (i >= g->n)
		return 0;
	g->next++;
	s = &g->skel[i];
	a = &accounts[s->account];

	memset(row, 0, sizeof *row);
	row->seq = i;
	row->platform = platform_names[a->platform];
	row->account = a->account;
	row->kind = s->kind;
	row->direction = s->dir;
	row->created_ms = s->created_ms;

	message_id(g, s, s->m, s->created_ms, g->id, sizeof g->id);
	row->id = g->id;
	if (s->kind == GENROWS_DIRECT)
		thread_id(g, s, g->conversation, sizeof g->conversation);
	else
		message_id(g, s, g->convs[s->conv].first_m,
		    g->convs[s->conv].root_ms, g->conversation,
		    sizeof g->conversation);
	row->conversation = g->conversation;

	if (s->who != NONE)
		person_get(g, s->who, &who);
	else
		memset(&who, 0, sizeof who);

	if (s->dir == GENROWS_INBOUND) {
		person_author(&who, a->platform, g->author, sizeof g->author);
		row->author = g->author;
	} else if (s->kind == GENROWS_BROADCAST) {
		snprintf(g->author, sizeof g->author, "%s", a->handle);
		row->author = g->author;
	}
	if (s->reply_to != NONE) {
		message_id(g, s, s->reply_to, s->reply_ms, g->in_reply_to,
		    sizeof g->in_reply_to);
		row->in_reply_to = g->in_reply_to;
	}
	make_text(g, s, &who);
	row->text = g->text;
	row->text_len = strlen(g->text);
	make_url(g, s, &who);
	if (g->url[0] != '\0')
		row->url = g->url;
	return 1;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t		 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void
genrows_format_time(int64_t ms, char *buf, size_t len)
{
	int64_t		 days = ms / DAY, rem = ms % DAY;
	int		 y, mo, d, frac;

	if (rem < 0) {
		rem += DAY;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	frac = (int)(rem % SEC);
	rem /= SEC;
	if (frac != 0)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    y, mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60), frac);
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    y, mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60));
}

uint64_t
genrows_number(const char *prog, const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0) {
		fprintf(stderr, "%s: bad %s: %s\n", prog, what, s);
		exit(2);
	}
	return v;
}
