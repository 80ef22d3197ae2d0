namespace Acp.GptOss.Cli;

/// <summary>Process exit codes.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A file could not be read or did not hold what was expected.</summary>
    public const int InputError = 1;

    /// <summary>The command line was wrong, or asked for something that does not exist yet.</summary>
    public const int UsageError = 2;
}
