/**
 * pgbackrest.conf, parsed in one place: its stanza sections, an option of a stanza (its section over
 * `[global]`), its repositories (secret values dropped while parsing), and the text with secrets masked for
 * anything shown. Also the one parser of `--stanza` in a pgBackRest command line.
 */
export { type RepositoryConfig } from '../backups/repositories';
