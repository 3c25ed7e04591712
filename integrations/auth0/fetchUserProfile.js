/* globals request */
'use strict';

/**
 * Auth0 "Fetch User Profile Script" for the TrustLane social connection.
 * Auth0 runs it with the access token from TrustLane's token endpoint; `request`
 * is a global in Auth0's sandbox. The deployment serves this function with its
 * own host filled in at {PUBLIC_URL}/integrations/auth0/fetchUserProfile.js.
 *
 * user_id is TrustLane's `sub` (stable for one person at one bank), never the
 * email: an email address can change, and Auth0 would then see a new user.
 */
module.exports = function fetchUserProfile(accessToken, ctx, callback) {
  var profileUrl = 'https://YOUR_TRUSTLANE_HOST/oidc-proxy/proxy/auth0/me';
  request.get(
    {
      url: profileUrl,
      headers: { Authorization: 'Bearer ' + accessToken, Accept: 'application/json' },
      timeout: 10000,
    },
    function (err, resp, body) {
      if (err) {
        return callback(new Error('Failed to fetch the user profile from TrustLane: ' + err.message));
      }
      if (resp.statusCode !== 200) {
        return callback(new Error('Failed status code check for user profile response. Received ' + resp.statusCode + '.'));
      }
      var claims;
      try {
        claims = typeof body === 'string' ? JSON.parse(body) : body;
      } catch (e) {
        return callback(new Error('Failed JSON parsing for user profile response.'));
      }
      if (!claims || typeof claims.sub !== 'string' || !claims.sub) {
        return callback(new Error('The user profile response has no sub.'));
      }
      var profile = {
        user_id: claims.sub,
        email: claims.email,
        email_verified: claims.email_verified,
        name: claims.name,
        given_name: claims.given_name,
        family_name: claims.family_name,
        nickname: claims.given_name || claims.name,
        app_metadata: {},
        user_metadata: {},
      };
      // Everything else the user allowed (birthdate, address, phone, age_over_*) stays available too.
      ['birthdate', 'address', 'phone_number', 'age_over_18', 'age_over_21', 'age_over_25'].forEach(function (k) {
        if (claims[k] !== undefined) profile[k] = claims[k];
      });
      Object.keys(profile).forEach(function (k) {
        if (profile[k] === undefined) delete profile[k];
      });
      return callback(null, profile);
    }
  );
};
