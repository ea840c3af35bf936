package dev.mcpauthz.policy;

/** One policy file's name (inside the policy directory) and text. */
public record PolicySource(String file, String text) {}
