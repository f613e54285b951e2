/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

/*
 * Prints the configuration keys as mdoc list items, from the table that
 * parses them (conf_key_info), for replywatch.conf(5): the page can never
 * miss a key or disagree with the parser about a default or a range.
 * Usage: conf-keys daemon|account|route
 */

/* mdoc text: a line must not start with '.' or '\'', and '\' is escaped. */
static void
text(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else
			putchar(*s);
	}
}

static void
item(const struct conf_keyinfo *k)
{
	printf(".It Ic %s Ar %s\n", k->name, k->type);
	/* the table's help is a phrase: a sentence here */
	putchar(toupper((unsigned char)k->help[0]));
	text(k->help + 1);
	printf(".\n");
	if (k->min != NULL && k->max != NULL)
		printf("From %s to %s.\n", k->min, k->max);
	else if (k->min != NULL)
		printf("At least %s.\n", k->min);
	else if (k->max != NULL)
		printf("At most %s.\n", k->max);
	if (k->def != NULL) {
		printf("The default is\n.Dq ");
		text(k->def);
		printf(" .\n");
	}
	if (strcmp(k->sections, "daemon account") == 0)
		printf("In\n.Li [daemon]\nit is the default of every account.\n");
}

int
main(int argc, char **argv)
{
	struct conf_keyinfo k;
	size_t i;

	if (argc != 2 || (strcmp(argv[1], "daemon") != 0 &&
	    strcmp(argv[1], "account") != 0 &&
	    strcmp(argv[1], "route") != 0)) {
		fprintf(stderr, "usage: conf-keys daemon|account|route\n");
		return 2;
	}
	printf(".Bl -tag -width Ds\n");
	for (i = 0; conf_key_info(i, &k) == 0; i++) {
		if (strstr(k.sections, argv[1]) == NULL)
			continue;
		/* policy keys are listed once, with the daemon's */
		if (strcmp(argv[1], "account") == 0 &&
		    strcmp(k.sections, "account") != 0)
			continue;
		item(&k);
	}
	printf(".El\n");
	return 0;
}
