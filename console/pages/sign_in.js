// @ts-check
// Signing in: email and password, the first sign-in's new password, and password reset.

import { html, useState } from '../vendor/preact-htm.js';
import { signIn, answerChallenge, forgotPassword, confirmForgotPassword } from '../api.js';
import { describeError } from '../format.js';
import { Field, useSubmit } from '../ui.js';

export function SignIn({ notice }) {
  const [step, setStep] = useState('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [code, setCode] = useState('');
  const [challenge, setChallenge] = useState(null);
  const [message, setMessage] = useState(notice || null);

  const actions = {
    password: async () => {
      const answer = await signIn(email, password);
      if (answer && answer.challenge === 'NEW_PASSWORD_REQUIRED') {
        setChallenge(answer.session);
        setPassword('');
        setStep('new-password');
      }
    },
    'new-password': () => answerChallenge(email, challenge, newPassword),
    forgot: async () => {
      await forgotPassword(email);
      setMessage('If this email has an account, a code is on its way. Enter it with a new password.');
      setStep('reset');
    },
    reset: async () => {
      await confirmForgotPassword(email, code, newPassword);
      setMessage('Password changed. Sign in with it.');
      setPassword('');
      setStep('password');
    },
  };
  const form = useSubmit(() => actions[step]());
  const { errors } = form;
  const failure = form.error ? html`<p class="error" role="alert">${describeError(form.error)}</p>` : null;
  const emailField = html`<${Field} label="Email" type="email" autocomplete="username" value=${email}
    onInput=${setEmail} required error=${errors.email} />`;
  const newPasswordField = html`<${Field} label="New password" type="password" autocomplete="new-password"
    value=${newPassword} onInput=${setNewPassword} required error=${errors.newPassword} />`;

  const screens = {
    'new-password': html`
      <h1>Choose your password</h1>
      <p>This is your first sign-in: replace the temporary password with one of your own (at
        least 12 characters, with upper and lower case letters, a digit and a symbol).</p>
      ${newPasswordField}${failure}
      <button class="primary" type="submit" disabled=${form.busy}>Set password and sign in</button>`,
    forgot: html`
      <h1>Reset your password</h1>
      ${emailField}${failure}
      <button class="primary" type="submit" disabled=${form.busy}>Email me a code</button>
      <button type="button" class="link" onClick=${() => setStep('password')}>Back to sign-in</button>`,
    reset: html`
      <h1>Reset your password</h1>
      ${message ? html`<p class="notice">${message}</p>` : null}
      <${Field} label="Code from the email" value=${code} onInput=${setCode} required autocomplete="one-time-code" error=${errors.code} />
      ${newPasswordField}${failure}
      <button class="primary" type="submit" disabled=${form.busy}>Change password</button>`,
    password: html`
      <h1>Sign in to hookhub</h1>
      ${message ? html`<p class="notice" role="status">${message}</p>` : null}
      ${emailField}
      <${Field} label="Password" type="password" autocomplete="current-password" value=${password}
        onInput=${setPassword} required error=${errors.password} />
      ${failure}
      <button class="primary" type="submit" disabled=${form.busy}>Sign in</button>
      <button type="button" class="link" onClick=${() => setStep('forgot')}>Forgot your password?</button>`,
  };
  return html`<main class="sign-in"><form onSubmit=${form.submit}>${screens[step]}</form></main>`;
}
