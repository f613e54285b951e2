# SPDX-License-Identifier: ISC
# A classifier data file as a C string constant:
#   awk -v name=classify_data_en -f embed.awk en.txt
# Comment lines become empty lines (line numbers stay those of the file);
# backslashes, double quotes and question marks (trigraphs) are escaped.
BEGIN { printf "const char %s[] =\n", name }
{
	line = $0
	if (line ~ /^[ \t]*#/)
		line = ""
	gsub(/\\/, "\\\\", line)
	gsub(/"/, "\\\"", line)
	gsub(/\?/, "\\?", line)
	printf "\t\"%s\\n\"\n", line
}
END { print "\t\"\";" }
