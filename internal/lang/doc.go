// Package lang resolves a chat session's language and the system texts it
// is sent in.
//
// Languages are the [language:<name>] sections of the configuration (the
// reference keeps them as business attributes). A session names one
// directly with GCTI_LanguageName, or gives GCTI_LanguageCode
// (language-country or language_country), which Resolve matches in three
// steps: the same language and country; else the same language with no
// country; else the same language with any country among the languages
// marked use-language-as-default. Texts then gives the session's
// inactivity texts: a language's own message-alert, message-alert2 and
// message-close where it sets them, [inactivity-control] otherwise.
//
// Everything here is a pure function of an immutable *config.Config, so it
// is safe for concurrent use.
package lang
