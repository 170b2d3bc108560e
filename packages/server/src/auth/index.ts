export { type Authenticate, bearerTokenOf, type Identity } from './authenticate.js';
export {
  type IssueTokenOptions,
  issueToken,
  signedTokenAuth,
  type TokenClaims,
  type VerifyTokenOptions,
  verifyToken,
} from './signed-token.js';
export { type StaticTokenOptions, staticTokenAuth } from './static-token.js';
