// The AWS SDK warns once per process that Node.js 20 support ends in 2027; that is known
// (engines says >=20) and would only clutter test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
