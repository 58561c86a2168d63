// Passwords never reach logs or error messages: hide the password part of URLs in any text.
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi

export function maskCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@')
}
